"""An OpenAI-compatible chat-completions server on 127.0.0.1 that stands in for an LLM judge.

No LLM can be reached from the test machines, so the tests and benchmarks start this server and
point MLflow's real ``openai:/`` judge path at it through ``OPENAI_BASE_URL``. Everything on the
MLflow side (prompt building, the HTTP call, response parsing, retries, assessments) is MLflow's
own code; only the model's answer is made up, deterministically:

- the verdict is "no" when the judge's prompt contains ``FAIL_MARKER`` (put it in an output to
  make a record fail), "yes" otherwise;
- the rationale quotes the marker decision, so tests can find it in the grid;
- ``delay`` seconds are slept before answering (the benchmark uses 0.1 s), concurrently: one
  thread per request, so a judge run's concurrency is measurable.

Run it by hand with ``python tests/judge_server.py [PORT] [DELAY]``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_MARKER = "JUDGE_SAYS_NO"


@dataclass
class JudgeServer:
    """A running stand-in judge: ``base_url`` for ``OPENAI_BASE_URL``, ``requests`` seen so far."""

    delay: float = 0.0
    port: int = 0
    requests: list[dict] = field(default_factory=list)
    peak_concurrency: int = 0
    _server: ThreadingHTTPServer | None = None
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> JudgeServer:
        judge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with judge._lock:
                    judge.requests.append(body)
                    judge._active += 1
                    judge.peak_concurrency = max(judge.peak_concurrency, judge._active)
                try:
                    if judge.delay:
                        time.sleep(judge.delay)
                    payload = json.dumps(_completion(body)).encode()
                finally:
                    with judge._lock:
                        judge._active -= 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _completion(body: dict) -> dict:
    prompt = json.dumps(body.get("messages", []))
    failed = FAIL_MARKER in prompt
    verdict = {
        "result": "no" if failed else "yes",
        "rationale": (
            f"The response contains {FAIL_MARKER}, so it does not meet the criteria."
            if failed
            else "The response meets the criteria."
        ),
    }
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stand-in"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(verdict)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": 20, "total_tokens": 0},
    }


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = JudgeServer(delay=delay, port=port).start()
    print(server.base_url, flush=True)
    threading.Event().wait()
