from services.feed.app import main

main()
