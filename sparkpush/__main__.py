from sparkpush.cli.main import main

main()
