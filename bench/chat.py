"""The chat panel's streaming cost against iterating ``predict_stream`` directly.

Prints, on a fresh SQLite store:
- the time to the first delta reaching the widget's synced ``live`` trait, against the time
  to the first event of a raw ``predict_stream`` loop (goal: at most +5 ms);
- for a stream of 10,000 deltas: how many times ``live`` was synced and at what rate (goal:
  at most 30 a second), whether every delta arrived, and the kernel-side time of the whole
  turn against the raw loop's (goal: at most 10% over).

Run: ``python bench/chat.py [DELTAS]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def main(deltas: int = 10_000) -> None:
    import mlflow
    from mlflow.pyfunc import ResponsesAgent
    from mlflow.types.responses import ResponsesAgentRequest, ResponsesAgentStreamEvent

    from mlflow_magics.chat import Chat, agent_for
    from mlflow_magics.views.chat_view import ChatView

    folder = tempfile.mkdtemp(prefix="mlfm-bench-chat-")
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    mlflow.set_experiment("bench-chat")

    class Streamer(ResponsesAgent):
        def predict(self, request):
            raise NotImplementedError

        def predict_stream(self, request):
            for i in range(deltas):
                yield ResponsesAgentStreamEvent(**self.create_text_delta(f"w{i} ", "msg_1"))
            text = "".join(f"w{i} " for i in range(deltas))
            yield ResponsesAgentStreamEvent(
                type="response.output_item.done", item=self.create_text_output_item(text, "msg_1")
            )

    agent = Streamer()
    request = ResponsesAgentRequest(input=[{"role": "user", "content": "go"}])

    def raw() -> tuple[float, float]:
        started = time.perf_counter()
        first = None
        with mlflow.start_span("raw"):  # the same one trace a chat turn makes
            for _ in agent.predict_stream(request):
                if first is None:
                    first = time.perf_counter() - started
        return first or 0.0, time.perf_counter() - started

    def chat_turn() -> tuple[float, float, int, int, bool]:
        view = ChatView(Chat(agent_for(agent, "streamer"), client=mlflow.MlflowClient()))
        w = view.widget and view._control_widget
        firsts: list[float] = []
        syncs = [0]

        def seen(change) -> None:
            syncs[0] += 1
            if (change["new"] or {}).get("deltas") and not firsts:
                firsts.append(time.perf_counter() - started)

        w.observe(seen, names="live")
        started = time.perf_counter()
        turn = view.start("go")
        turn.wait()
        took = time.perf_counter() - started
        whole = turn.deltas == deltas and turn.text.count("w") == deltas
        return firsts[0] if firsts else float("nan"), took, syncs[0], turn.deltas, whole

    raw()  # warm up MLflow's tracing and the store
    chat_turn()
    raws = [raw() for _ in range(3)]
    chats = [chat_turn() for _ in range(3)]
    raw_first = min(r[0] for r in raws) * 1000
    raw_total = min(r[1] for r in raws)
    chat_first = min(c[0] for c in chats) * 1000
    chat_total = min(c[1] for c in chats)
    syncs = max(c[2] for c in chats)
    rate = max(c[2] / c[1] for c in chats)
    print(f"deltas per stream: {deltas:,}")
    print(
        f"first delta: raw predict_stream {raw_first:.2f} ms, chat widget {chat_first:.2f} ms "
        f"(+{chat_first - raw_first:.2f} ms; goal ≤ +5 ms)"
    )
    print(
        f"whole stream: raw {raw_total * 1000:.0f} ms, chat {chat_total * 1000:.0f} ms "
        f"({chat_total / raw_total:.2f}x; goal ≤ 1.10x)"
    )
    print(f"live syncs: {syncs} at most, {rate:.1f} a second at most (goal ≤ 30)")
    print(f"every delta arrived: {all(c[4] for c in chats)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
