#!/usr/bin/env bash
# Measures the browser's proof-of-work solve time: headless Chromium runs
# web/static/js/pow-worker.js (the page's own Web Worker) on 30 fresh
# challenges at difficulty 16 and prints hashes/s and solve times.
# Needs chromium and python3. Usage: scripts/pow-bench-browser.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
cp "$root/web/static/js/pow.js" "$root/web/static/js/pow-worker.js" "$root/scripts/pow-bench.html" "$dir/"
port=$((20000 + RANDOM % 20000))
python3 - "$dir" "$port" <<'PY' &
import http.server, sys, functools
d, port = sys.argv[1], int(sys.argv[2])
class H(http.server.SimpleHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode()
        open(d + '/result.txt', 'w').write(body); self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', port), functools.partial(H, directory=d)).serve_forever()
PY
server=$!
chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$dir/profile" \
  "http://127.0.0.1:$port/pow-bench.html" >"$dir/chrome.log" 2>&1 &
chrome=$!
trap 'kill $chrome $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do
  [[ -s $dir/result.txt ]] && break
  sleep 1
done
cat "$dir/result.txt" 2>/dev/null || { echo "no result after 2 minutes" >&2; exit 1; }
echo
