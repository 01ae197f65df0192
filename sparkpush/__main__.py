from sparkpush.cli.entry import main

main()
