from services.profiles.app import main

main()
