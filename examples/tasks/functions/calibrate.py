"""A job that fails with a Python traceback.

--exec '{"func_name": "calibrate", "pre_script": "from calibrate import calibrate", "args": [7]}'

calibrate(7) asks for constants of a run the table does not have; the exception travels up two
frames and out of the job. The agent's bootstrap prints the traceback to the job's stderr (read it
with `pgc logs <id> --stderr`) and the job fails with exit code 1, which PanDA sees as pilot
error 1305 with the exception's last line as its diagnostic. Jobs submitted with it, in the same
task, still report their own results: one failure costs nothing else (the 2023 integration lost
the whole batch).
"""

CONSTANTS = {1: (0.98, 0.2), 2: (1.01, -0.1), 3: (0.99, 0.05)}


def load_constants(run):
    try:
        return CONSTANTS[run]
    except KeyError:
        known = ", ".join(str(r) for r in sorted(CONSTANTS))
        raise LookupError("no calibration constants for run %d (known runs: %s)" % (run, known)) from None


def calibrate(run, energies=(10.0, 20.0, 40.0)):
    print("calibrating run %d" % run, flush=True)
    gain, offset = load_constants(run)
    return [round(e * gain + offset, 3) for e in energies]
