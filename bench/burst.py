"""200 logins at once (one thread each, released together by a barrier), as bench/run.sh's login
burst. Usage: burst.py COUNT CUSTOMERS ADDRESS... ; prints {"seconds", "codes"} as JSON."""
import http.client
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlparse

count, customers, addresses = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
barrier = threading.Barrier(count + 1)
codes = Counter()
lock = threading.Lock()


def login(i):
    url = urlparse(addresses[i % len(addresses)])
    body = json.dumps({"email": f"bench-{i % customers}@mami.local", "password": "Mami2026!"})
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    barrier.wait()
    try:
        conn.request("POST", "/api/v1/auth/login", body, {"content-type": "application/json"})
        status = conn.getresponse().status
    except OSError as e:
        status = type(e).__name__
    with lock:
        codes[status] += 1


threads = [threading.Thread(target=login, args=(i,)) for i in range(count)]
for t in threads:
    t.start()
started = time.monotonic()
barrier.wait()
for t in threads:
    t.join()
print(json.dumps({"seconds": round(time.monotonic() - started, 2),
                  "codes": " ".join(f"{n}×{c}" for c, n in sorted(codes.items(), key=str))}, ensure_ascii=False))
