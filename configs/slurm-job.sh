# Shared body of configs/slurm-gpu.sbatch and configs/slurm-cpu.sbatch (sourced, not run): one
# ner-launch launcher per node under one `srun` step, everything taken from SLURM's own
# variables. Each failure ends the job with one line saying why, in the job's output file.
#
# Settings (environment of sbatch, all optional):
#   NER_LAUNCH_HOME      the ner-launch checkout with node_modules (default: the submit folder)
#   NER_NODE             the node binary (default: `node` on PATH)
#   MAIN_PROCESS_IP      address of the first node as the others reach it (default: its NodeAddr)
#   MAIN_PROCESS_PORT    rendezvous port (default: 20000 + job id % 10000, below the ephemeral
#                        range; on one node a free port)
#   NER_SLURM_DIR        where worker logs go, one folder per job (default: runs/slurm)
#   NER_MAX_RESTARTS     worker-group restarts per launcher (default: 1)
#   NER_LAUNCH_ARGS      extra launch flags, e.g. "--mixed_precision bf16"
#   NER_RUN_TOKEN        the job's shared secret (default: a random one per job)

ner_slurm_die() {
  echo "ner-launch slurm job: $*" >&2
  exit 1
}

# The address of node $1 as the other nodes see it: SLURM's NodeAddr (what slurmctld itself
# uses to reach the node), resolved if it is a name. Resolving the node's own hostname on the
# node is not enough: Debian and Ubuntu map it to 127.0.1.1, which no other node can reach.
ner_slurm_node_ip() {
  local node=$1 addr ip
  addr=$(scontrol show node "$node" 2>/dev/null | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2) || true
  [[ -n $addr ]] || ner_slurm_die "cannot read the NodeAddr of node $node from \`scontrol show node $node\`; set MAIN_PROCESS_IP to its address"
  if [[ $addr =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    ip=$addr
  else
    ip=$(getent ahostsv4 "$addr" 2>/dev/null | awk 'NR == 1 { print $1 }') || true
    [[ -n $ip ]] || ner_slurm_die "the main node $node (NodeAddr $addr) does not resolve to an IPv4 address on $(hostname) (\`getent ahostsv4 $addr\` finds nothing); fix its name resolution, give it NodeAddr=<address> in slurm.conf, or set MAIN_PROCESS_IP"
  fi
  [[ $ip != 127.0.1.1 ]] || ner_slurm_die "the main node $node (NodeAddr $addr) resolves to 127.0.1.1, the Debian alias of a host's own name, which other nodes cannot reach; give it NodeAddr=<address> in slurm.conf or set MAIN_PROCESS_IP"
  echo "$ip"
}

# Runs the launchers: ner_slurm_run PROCESSES_PER_NODE GPU_IDS_FROM_SLURM LAUNCH_FLAGS... -- TRAIN_ARGS...
# (GPU_IDS_FROM_SLURM=1: each node passes the CUDA_VISIBLE_DEVICES SLURM gave it as --gpu_ids.)
ner_slurm_run() {
  local per_node=$1 gpu_ids_from_slurm=$2
  shift 2
  local launch_flags=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    launch_flags+=("$1")
    shift
  done
  [[ $# -gt 0 ]] && shift

  local home=${NER_LAUNCH_HOME:-$SLURM_SUBMIT_DIR}
  local bin=$home/node_modules/.bin/ner-launch
  [[ -e $bin ]] || ner_slurm_die "$bin not found: submit from the ner-launch checkout (after npm ci) or set NER_LAUNCH_HOME"
  # Under `sbatch --export=NONE` PATH is bash's default and not exported; export it so the step
  # finds its programs.
  export PATH
  local node=${NER_NODE:-$(command -v node || true)}
  [[ -n $node && -x $node ]] || ner_slurm_die "node not found on PATH ($PATH); load Node.js 20+ before sbatch, or set NER_NODE=/path/to/node"

  local nodes=$SLURM_NNODES
  local main_host main_ip
  main_host=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | awk 'NR == 1')
  [[ -n $main_host ]] || ner_slurm_die "cannot expand SLURM_JOB_NODELIST '$SLURM_JOB_NODELIST' with scontrol"
  if [[ -n ${MAIN_PROCESS_IP:-} ]]; then
    main_ip=$MAIN_PROCESS_IP
  elif [[ $nodes -eq 1 ]]; then
    main_ip=127.0.0.1
  else
    main_ip=$(ner_slurm_node_ip "$main_host") || exit 1
  fi
  # One node: any free port (two jobs sharing the node never collide). Several: every node must
  # know it beforehand, so it comes from the job id, below Linux's ephemeral range.
  local port=${MAIN_PROCESS_PORT:-$((nodes == 1 ? 0 : 20000 + SLURM_JOB_ID % 10000))}
  local out_dir=${NER_SLURM_DIR:-runs/slurm}/$SLURM_JOB_ID
  local extra=()
  read -r -a extra <<<"${NER_LAUNCH_ARGS:-}"
  export NER_RUN_TOKEN=${NER_RUN_TOKEN:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}

  echo "ner-launch slurm job $SLURM_JOB_ID: $nodes node(s) x $per_node process(es), rendezvous at $main_host $main_ip:${port/#0/(a free port)}, logs in $out_dir/logs"
  # --export=ALL: the step gets this script's environment even under `sbatch --export=NONE`
  # (PATH, NER_RUN_TOKEN). --cpus-per-task: since SLURM 22.05 srun does not inherit it.
  # The step execs node itself, never npx: npm renames its process to "npm exec ...", a
  # name SLURM's process tracking cannot parse, and then scancel reaches nothing under it.
  # Single quotes: SLURM_NODEID and CUDA_VISIBLE_DEVICES expand on each node.
  srun --export=ALL --kill-on-bad-exit=1 --nodes="$nodes" --ntasks="$nodes" --ntasks-per-node=1 \
    ${SLURM_CPUS_PER_TASK:+--cpus-per-task="$SLURM_CPUS_PER_TASK"} \
    "$BASH" -c '
      node=$1 bin=$2 gpu_ids_from_slurm=$3
      shift 3
      gpu_ids=()
      if [[ $gpu_ids_from_slurm == 1 && ${CUDA_VISIBLE_DEVICES:-} =~ ^[0-9]+(,[0-9]+)*$ ]]; then
        gpu_ids=(--gpu_ids "$CUDA_VISIBLE_DEVICES")
      fi
      exec "$node" "$bin" --machine_rank "$SLURM_NODEID" "${gpu_ids[@]}" "$@"
    ' ner-launch "$node" "$bin" "$gpu_ids_from_slurm" \
    "${launch_flags[@]}" \
    --num_machines "$nodes" \
    --num_processes "$((nodes * per_node))" \
    --main_process_ip "$main_ip" \
    --main_process_port "$port" \
    --same_network \
    --max_restarts "${NER_MAX_RESTARTS:-1}" \
    --log_dir "$out_dir/logs" --tee 2 \
    "${extra[@]}" \
    train "$@"
}
