"""`python -m pi_dashboard` is the same as the `pi-dashboard` console script."""

from pi_dashboard.cli import main

raise SystemExit(main())
