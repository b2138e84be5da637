#!/usr/bin/env bash
# Renders docs/report.png: `recokit report` of the shipped pipeline file on the built-in sports
# shop's exports (1,500 customers), opened in headless Chromium (Debian: apt-get install chromium).
# Usage, from anywhere (recokit installed with the report extra):  bash scripts/screenshot_report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python - "$tmp" <<'PY'
import sys
from pathlib import Path
from recokit.datasets import sports_shop_tables
out = Path(sys.argv[1])
tables = sports_shop_tables(1500, seed=0)
tables.interactions.write_csv(out / "orders.csv")
tables.catalog.write_csv(out / "catalog.csv")
tables.customers.write_parquet(out / "customers.parquet")
PY
recokit report --pipeline docs/examples/sports_shop_pipeline.toml --orders "$tmp/orders.csv" \
    --catalog "$tmp/catalog.csv" --customers "$tmp/customers.parquet" --n-boot 500 --no-progress \
    --out "$tmp/report.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1500,2500 \
    --screenshot="$PWD/docs/report.png" "file://$tmp/report.html" 2>/dev/null
echo "wrote docs/report.png"
