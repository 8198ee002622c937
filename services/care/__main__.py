from services.care.app import main

main()
