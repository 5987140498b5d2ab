"""Entropy bars of the datasets (paper Fig. 3c): H and its bound log n, from entropy.json."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

LABELS = {0: "FCC 300 K", 1: "FCC 900 K", 2: "FCC 300+900 K"}

rows = json.load(open("entropy.json"))["datasets"]
names = [LABELS.get(i, row["dataset"].split(".")[0]) for i, row in enumerate(rows)]
figure, axis = plt.subplots(figsize=(8, 4.5), dpi=100)
axis.bar(names, [row["log_n"] for row in rows], color="lightgray", label="log n (maximum)")
axis.bar(names, [row["entropy"] for row in rows], color="tab:blue", label="H")
axis.set_ylabel("nats")
axis.tick_params(axis="x", rotation=30)
axis.legend()
figure.tight_layout()
figure.savefig("entropy.png")
print("entropy.png")
