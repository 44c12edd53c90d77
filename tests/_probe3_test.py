import mlflow, time, json
from IPython.core.error import UsageError
from test_bad_input import ns, watch, store_template, _fuzz_lines, _run  # noqa

def test_probe(shell, ns, store_uri, watch, capsys):
    magics = shell.magics_manager.registry["MlflowMagics"]
    stats = []
    tf = tr = 0
    for line, body in _fuzz_lines(store_uri)[::6]:
        t0 = time.monotonic(); mlflow.flush_trace_async_logging(); t1 = time.monotonic()
        try:
            _run(shell, magics, line, body); k = "ok"
        except UsageError:
            k = "usage"
        t2 = time.monotonic()
        capsys.readouterr()
        magics.tracer.autotrace = None
        if mlflow.get_tracking_uri() != store_uri:
            shell.run(f"%mlflow connect {store_uri}")
        t3 = time.monotonic()
        stats.append((t2 - t1, t1 - t0, t3 - t2, k, line[:120], (body or "")[:30]))
    json.dump(stats, open("/tmp/w/fuzz2.json", "w"))
