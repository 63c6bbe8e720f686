from gatewatch.cli.main import main

main()
