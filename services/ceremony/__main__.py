from services.ceremony.app import main

main()
