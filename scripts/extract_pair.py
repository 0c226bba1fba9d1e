"""Rule extract_pair: the binary subset for one digit pair (first digit -> -1, second -> +1)."""
from mnistrepro.data.tensors import extract_pair, load_mnist, pair_counts, save_pair
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
digits = (int(snakemake.wildcards.a), int(snakemake.wildcards.b))
pair = extract_pair(load_mnist(snakemake.input[0]), digits)
counts = pair_counts(pair)
log.info(
    "pair %d (-1) vs %d (+1): train %d (%d + %d), test %d (%d + %d)",
    *digits,
    counts["train"], counts["train_-1"], counts["train_+1"],
    counts["test"], counts["test_-1"], counts["test_+1"],
)
save_pair(pair, snakemake.output[0])
