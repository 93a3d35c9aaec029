"""A small function job that returns a value.

--exec '{"func_name": "fit_line", "pre_script": "from fit import fit_line",
         "args": [[[1, 2.1], [2, 3.9], [3, 6.2], [4, 7.8]]]}'

The agent's bootstrap calls fit_line(points) and sends its return value back as JSON: PanDA gets
it in the job's metadata, `pgc job <id>` shows it. No input or output files needed.
"""


def fit_line(points):
    """Least-squares line through [x, y] points: {"slope", "intercept", "points"}."""
    n = len(points)
    if n < 2:
        raise ValueError("a line needs at least two points, got %d" % n)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mean_x) ** 2 for p in points)
    sxy = sum((p[0] - mean_x) * (p[1] - mean_y) for p in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    print("fitted %d points: y = %.4f x + %.4f" % (n, slope, intercept), flush=True)
    return {"slope": round(slope, 6), "intercept": round(intercept, 6), "points": n}
