"""Reading the staged input files: %IN arrives as their names, comma-separated."""


def read_showers(input_files):
    """Rows (energy_gev, abs_eta, response) of every input file, in the order given."""
    rows = []
    for path in input_files.split(","):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                energy, eta, response = (float(x) for x in line.split(","))
                rows.append((energy, abs(eta), response))
    if not rows:
        raise ValueError("no showers in %s" % input_files)
    return rows


def scale(rows):
    """Features divided by their largest value, so plain gradient descent converges."""
    top_energy = max(r[0] for r in rows)
    top_eta = max(r[1] for r in rows) or 1.0
    top_response = max(r[2] for r in rows)
    scaled = [(e / top_energy, eta / top_eta, resp / top_response) for e, eta, resp in rows]
    return scaled, {"energy": top_energy, "eta": top_eta, "response": top_response}
