from lojal.cli import main

main()
