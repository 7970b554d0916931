"""Launch scripts for clusters (Slurm on A100 nodes and on LUMI's MI250X nodes)."""
