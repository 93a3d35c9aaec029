"""panda-gc function payload bootstrap (shipped with the agent; see agent/runner/payload-argv.ts).

Runs the prun --exec JSON of the 2023 Globus Compute integration: executes `pre_script` in a fresh
namespace (a dict given to exec, not locals(), whose semantics changed in Python 3.13), calls
`func_name(*args, **kwargs)` from it, and writes the return value as JSON (or JSON of its repr)
to the result file. For compatibility with that integration, when the job declares outputs and
the first one does not exist after the call, str() of the return value is written to it (that is
how `--output out.dat` received a function's result). An exception prints its traceback to
stderr, writes a structured error file and exits 1.

argv: <spec.json> where spec = {pre_script, func_name, args, kwargs, result_file, error_file,
first_output}; args/kwargs are JSON text.
"""
import json
import os
import sys
import traceback


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    namespace = {"__name__": "__pgc_pre_script__", "__builtins__": __builtins__}
    try:
        exec(compile(spec["pre_script"], "<pre_script>", "exec"), namespace)
        func = namespace.get(spec["func_name"])
        if func is None:
            raise NameError("function %r is not defined by pre_script" % spec["func_name"])
        if not callable(func):
            raise TypeError("%r defined by pre_script is not callable" % spec["func_name"])
        args = json.loads(spec["args"] or "[]")
        kwargs = json.loads(spec["kwargs"] or "{}")
        value = func(*args, **kwargs)
    except BaseException as exc:  # noqa: B036 - SystemExit and KeyboardInterrupt are failures too
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            value = None
        else:
            text = traceback.format_exc()
            sys.stderr.write(text)
            sys.stderr.flush()
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            write_atomically(spec["error_file"], json.dumps({"type": type(exc).__name__, "message": str(exc), "last_line": last, "traceback": text}))
            sys.exit(1)
    try:
        encoded = json.dumps(value)
    except (TypeError, ValueError):
        encoded = json.dumps(repr(value))
    write_atomically(spec["result_file"], encoded)
    first_output = spec.get("first_output")
    if first_output and not os.path.lexists(first_output):
        with open(first_output, "w", encoding="utf-8") as f:
            f.write(str(value))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
