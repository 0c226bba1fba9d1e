# Checks the JSON schema cannot express, then names shared by the topic rule files.
from mnistrepro.config import check_config

check_config(config)

DATA = "results/data"
PAIR = config["pair"]


def data_targets():
    return [f"{DATA}/mnist.pt", f"{DATA}/pair_{PAIR[0]}_{PAIR[1]}.pt"]
