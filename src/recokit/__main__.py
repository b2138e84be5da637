from recokit.cli import main

raise SystemExit(main())
