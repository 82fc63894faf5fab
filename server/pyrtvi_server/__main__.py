from pyrtvi_server.cli import main

raise SystemExit(main())
