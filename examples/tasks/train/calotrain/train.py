"""The entry point: --exec '{"func_name": "main", "pre_script": "from calotrain.train import main",
"kwargs": {"input_files": "%IN"}}'.

Reads the staged inputs (%IN), trains, and writes the two declared outputs, model.json and
metrics.txt, into the job's directory; the agent collects them and PanDA gets their adler32.
The outputs depend only on the inputs and the arguments, so they can be checked by rerunning
this function anywhere. Prints one line per epoch (see them with `pgc logs <id>`) and returns a
summary (shown by `pgc job <id>`).
"""
import json
import time

from calotrain.data import read_showers, scale
from calotrain.model import ResponseModel
from calotrain.state import TrainingState


def main(input_files, epochs=8, learning_rate=0.5, pause_s=0.15):
    TrainingState.reset()
    rows, scales = scale(read_showers(input_files))
    print("training on %d showers from %s" % (len(rows), input_files), flush=True)
    model = ResponseModel()
    for epoch in range(1, epochs + 1):
        loss = model.fit_epoch(rows, learning_rate)
        print("epoch %d/%d  loss %.6f" % (epoch, epochs, loss), flush=True)
        # A real training takes a while; this keeps the job running long enough to be watched.
        time.sleep(pause_s)
    with open("model.json", "w", encoding="utf-8") as f:
        json.dump({"weights": model.weights(), "scales": scales}, f, indent=2, sort_keys=True)
        f.write("\n")
    with open("metrics.txt", "w", encoding="utf-8") as f:
        for epoch, loss in enumerate(TrainingState.losses, start=1):
            f.write("epoch %d loss %.9f\n" % (epoch, loss))
    print("wrote model.json and metrics.txt", flush=True)
    return {
        "showers": len(rows),
        "epochs": TrainingState.epochs_done,
        "final_loss": TrainingState.losses[-1],
    }
