"""calotrain: a small stand-in for an ML training shipped as user code (examples/tasks/README.md).

It is the shape the 2023 Globus Compute integration could not ship: a package of several
modules, an entry function (calotrain.train.main) that calls the others, a class whose state
they share, input files named by %IN, and output files PanDA registers with their checksums.
Standard library only, so any python3 runs it.
"""
