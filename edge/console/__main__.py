from edge.console.app import main

main()
