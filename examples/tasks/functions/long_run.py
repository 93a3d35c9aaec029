"""A long job, there to be killed.

--exec '{"func_name": "simulate", "pre_script": "from long_run import simulate",
         "kwargs": {"events": 600}}'

simulate() starts a worker process of its own (as real payloads start helpers) and then
"simulates" one event per second for ten minutes, printing its progress. Kill it from PanDA
(the simulator's job/kill, what `pgc demo` does: pilot error 1144) or as an operator
(`pgc kill <id>`: 1205): the agent ends the whole process tree, worker included, within
seconds, and PanDA hears that the job failed with the kill's code. The 2023 integration could
not kill a job at all.
"""
import subprocess
import sys
import time

WORKER = "import time\nwhile True:\n    time.sleep(1)\n"


def simulate(events=600, seconds_per_event=1.0):
    worker = subprocess.Popen([sys.executable, "-c", WORKER])
    print("started worker process %d" % worker.pid, flush=True)
    for event in range(1, events + 1):
        time.sleep(seconds_per_event)
        print("event %d/%d simulated" % (event, events), flush=True)
    worker.terminate()
    worker.wait()
    return {"events": events}
