#!/usr/bin/env bash
# A single-node SLURM cluster for tests, with accounting (`sacct`), everything on loopback.
#
#   tests/cluster/slurm.sh up [--confine none|affinity|cgroup|auto] [--dir DIR]
#   tests/cluster/slurm.sh down   [--dir DIR]
#   tests/cluster/slurm.sh status [--dir DIR]
#   tests/cluster/slurm.sh env    [--dir DIR]   # prints `export ...` lines: eval "$(... env)"
#
# Client commands (sbatch, srun, sacct, ...) find the cluster through the wrappers in DIR/bin, which
# set SLURM_CONF: put DIR/bin first on PATH (the `env` command prints that). The wrappers, and not
# SLURM_CONF alone, are needed because the Snakemake jobstep plugin strips SLURM_* variables before
# it calls `srun` inside a job.
#
# Daemons, all started from and writing into DIR (default /tmp/bnnrepro-slurm, or $BNNREPRO_SLURM_DIR):
#   munged     its own key and socket (DIR/munge)
#   mariadbd   --skip-networking: unix socket DIR/mysql/mysqld.sock only
#   slurmdbd   accounting, to MariaDB over that socket; listens on 127.0.0.1
#   slurmctld  SlurmctldHost=localhost(127.0.0.1), NoCtldInAddrAny
#   slurmd     node "localhost" at 127.0.0.1, NoInAddrAny
# Ports: slurmctld, slurmd, slurmdbd on 16817-16819, or from $BNNREPRO_SLURM_PORT_BASE on.
# Partitions: cpu (default) and gpu, both on the one node. The node announces one stand-in "gpu" GRES
# per CPU (empty files, no device), so that jobs asking for a GPU are scheduled (into the gpu
# partition) and then run on the CPU. DIR/etc/partitions.yaml describes both partitions for the
# executor's --slurm-partition-config.
#
# CPU confinement (--confine; `up` with another mode than the running one restarts slurmctld/slurmd):
#   none      TaskPlugin=task/none: a job's processes may run on every core
#   affinity  TaskPlugin=task/affinity: each step is bound to its allocated cores (sched_setaffinity)
#   cgroup    task/cgroup + proctrack/cgroup (ConstrainCores): a cpuset cgroup per step
#   auto      (default) cgroup where the cgroup hierarchy lets us create a cpuset group, else affinity
#
# Idempotent: `up` starts only what is not running; `down` stops only the processes whose pid files
# are in DIR (after cancelling the cluster's jobs), and only if the pid still is that daemon.
set -euo pipefail

ACTION=${1:-}
[ $# -gt 0 ] && shift
DIR=${BNNREPRO_SLURM_DIR:-/tmp/bnnrepro-slurm}
CONFINE=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#--dir=}; shift ;;
    --confine) CONFINE=$2; shift 2 ;;
    --confine=*) CONFINE=${1#--confine=}; shift ;;
    *) echo "slurm.sh: unknown argument '$1' (usage: slurm.sh up|down|status|env [--confine MODE] [--dir DIR])" >&2; exit 2 ;;
  esac
done
case "$CONFINE" in none|affinity|cgroup|auto) ;; *)
  echo "slurm.sh: --confine must be none, affinity, cgroup or auto, not '$CONFINE'" >&2; exit 2 ;;
esac
[ "$ACTION" = up ] && mkdir -p "$DIR"
DIR=$(cd "$DIR" 2>/dev/null && pwd || echo "$DIR")

# Ports away from SLURM's defaults (6817-6819), so that a system cluster on this machine is untouched.
PORT_BASE=${BNNREPRO_SLURM_PORT_BASE:-16817}
CTLD_PORT=$PORT_BASE
SLURMD_PORT=$((PORT_BASE + 1))
DBD_PORT=$((PORT_BASE + 2))
CLUSTER=bnnrepro
ME=$(id -un)

ETC=$DIR/etc RUN=$DIR/run LOG=$DIR/log MUNGE=$DIR/munge MYSQL=$DIR/mysql
MUNGE_SOCKET=$MUNGE/munged.sock
MYSQL_SOCKET=$MYSQL/mysqld.sock
SLURM_CONF=$ETC/slurm.conf
export SLURM_CONF

die() { echo "slurm.sh: $*" >&2; exit 1; }

need_tools() {
  local missing=()
  local tool
  for tool in munged mungekey mariadbd mariadb-install-db mariadb slurmdbd slurmctld slurmd sbatch sacct sacctmgr; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "missing ${missing[*]}: install the Debian packages slurm-wlm slurmdbd munge mariadb-server (envs/install-system.sh does)"
  fi
  [ "$(id -u)" = 0 ] || die "slurmd must run as root (it starts jobs as their users); run as root"
}
# The real programs: our own wrappers (DIR/bin, maybe on PATH already) must not find themselves.
PATH=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$DIR/bin" | paste -sd: -):/usr/sbin:/sbin
export PATH

# --- processes --------------------------------------------------------------------------------------

# pid in a pid file, if that process is alive and runs the expected program.
running_pid() {  # NAME PIDFILE
  local name=$1 pidfile=$2 pid exe
  [ -s "$pidfile" ] || return 1
  pid=$(tr -dc 0-9 < "$pidfile")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  case "$(basename "${exe% (deleted)}")" in
    "$name"|"$name-wlm") echo "$pid" ;;
    *) return 1 ;;
  esac
}

stop_daemon() {  # NAME PIDFILE
  local name=$1 pidfile=$2 pid i
  pid=$(running_pid "$name" "$pidfile") || { rm -f "$pidfile"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do
    [ -d "/proc/$pid" ] || break
    sleep 0.1
  done
  if [ -d "/proc/$pid" ]; then
    echo "slurm.sh: $name ($pid) did not stop in 10 s: killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

wait_for() {  # SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2 i
  shift 2
  for i in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# --- configuration ----------------------------------------------------------------------------------

cgroup_cpuset_writable() {
  local probe
  if [ -d /sys/fs/cgroup/cpuset ] && [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
    probe=/sys/fs/cgroup/cpuset/bnnrepro-probe-$$
  elif [ -f /sys/fs/cgroup/cgroup.subtree_control ]; then
    grep -qw cpuset /sys/fs/cgroup/cgroup.subtree_control || return 1
    probe=/sys/fs/cgroup/bnnrepro-probe-$$
  else
    return 1
  fi
  mkdir "$probe" 2>/dev/null && rmdir "$probe"
}

resolved_confine() {
  if [ "$CONFINE" = auto ]; then
    if cgroup_cpuset_writable; then echo cgroup; else echo affinity; fi
  else
    echo "$CONFINE"
  fi
}

write_if_changed() {  # FILE MODE (content on stdin); returns 0 if the file changed
  local file=$1 mode=$2 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat > "$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$file"
}

config_hash() { cat "$SLURM_CONF" "$ETC/gres.conf" "$ETC/cgroup.conf" | sha256sum | cut -c1-16; }

write_configs() {  # MODE
  local mode=$1 task proctrack node cpus mem
  case "$mode" in
    none) task=task/none; proctrack=proctrack/linuxproc ;;
    affinity) task=task/affinity; proctrack=proctrack/linuxproc ;;
    cgroup) task=task/cgroup,task/affinity; proctrack=proctrack/cgroup ;;
  esac
  # The node as slurmd sees it (CPUs, sockets, cores, threads), with memory left for the system.
  node=$(slurmd -C | head -n1)
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  node=$(sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//' <<<"$node")
  mem=$((mem * 9 / 10))
  write_if_changed "$SLURM_CONF" 644 <<EOF || true
# Generated by tests/cluster/slurm.sh: single-node test cluster (confinement: $mode).
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
SlurmUser=$ME
SlurmdUser=root
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ReturnToService=2
MpiDefault=none
ProctrackType=$proctrack
TaskPlugin=$task
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
# Finished jobs stay in slurmctld for 5 minutes (squeue as status command); sacct has them for good.
MinJobAge=300
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStorageEnforce=associations
# Clients authenticate every message with the munge socket named here (AuthInfo is not enough for them).
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
# sacct shows the executor's --comment (rule and wildcards of each job).
AccountingStoreFlags=job_comment
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost $node RealMemory=$mem Gres=gpu:$cpus State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
EOF
  # Stand-in GPUs, one per CPU (so that GPU jobs run as many at a time as CPU jobs): SLURM drops a
  # GPU GRES without a device file, so the files are empty ones of ours. Nothing is constrained
  # (ConstrainDevices=no); CUDA finds no device and torch runs on the CPU.
  local i
  for i in $(seq 0 $((cpus - 1))); do : > "$DIR/dev/gpu$i"; done
  write_if_changed "$ETC/gres.conf" 644 <<EOF || true
NodeName=localhost Name=gpu File=$DIR/dev/gpu[0-$((cpus - 1))]
EOF
  write_if_changed "$ETC/cgroup.conf" 644 <<EOF || true
CgroupPlugin=autodetect
ConstrainCores=yes
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
  write_if_changed "$ETC/slurmdbd.conf" 600 <<EOF || true
# Generated by tests/cluster/slurm.sh.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdAddr=127.0.0.1
CommunicationParameters=NoInAddrAny
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=$ME
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$ME
StorageLoc=slurm_acct_db
EOF
  # The executor's partition file (--slurm-partition-config): GPU jobs fit only the gpu partition,
  # and CPU jobs prefer cpu (the plugin scores a GPU partition down for jobs without a GPU).
  write_if_changed "$ETC/partitions.yaml" 644 <<EOF || true
partitions:
  cpu:
    max_gpu: 0
    max_threads: $cpus
    max_mem_mb: $mem
  gpu:
    max_gpu: $cpus
    max_threads: $cpus
    max_mem_mb: $mem
EOF
  # Client wrappers: SLURM_CONF for every SLURM command, also where the environment lost it.
  local tool
  for tool in sbatch srun salloc squeue sacct sacctmgr sinfo scontrol scancel sshare sstat; do
    write_if_changed "$DIR/bin/$tool" 755 <<EOF || true
#!/bin/sh
SLURM_CONF=$SLURM_CONF exec $(command -v "$tool") "\$@"
EOF
  done
}

# --- daemons ----------------------------------------------------------------------------------------

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Before a daemon starts: its port must be free (another cluster, e.g. a second test session, may
# hold it; BNNREPRO_SLURM_PORT_BASE picks others).
check_port() {  # NAME PIDFILE PORT
  running_pid "$1" "$2" >/dev/null && return 0
  if port_taken "$3"; then
    die "port $3 (for $1) is taken on 127.0.0.1: another cluster runs? choose others with BNNREPRO_SLURM_PORT_BASE=<port>"
  fi
}

start_munge() {
  running_pid munged "$MUNGE/munged.pid" >/dev/null && return 0
  [ -f "$MUNGE/munge.key" ] || mungekey --create --keyfile="$MUNGE/munge.key" --bits=1024
  chmod 600 "$MUNGE/munge.key"
  munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE/munge.key" --pid-file="$MUNGE/munged.pid" \
    --log-file="$LOG/munged.log" --seed-file="$MUNGE/munged.seed" </dev/null >/dev/null 2>&1 \
    || die "munged did not start (see $LOG/munged.log)"
  wait_for 10 munge munge --socket="$MUNGE_SOCKET" -n || die "munged does not answer (see $LOG/munged.log)"
}

mysql_client() { mariadb --no-defaults --socket="$MYSQL_SOCKET" --user=root "$@"; }

start_mariadb() {
  running_pid mariadbd "$MYSQL/mysqld.pid" >/dev/null && return 0
  if [ ! -d "$MYSQL/data/mysql" ]; then
    mariadb-install-db --no-defaults --user="$ME" --datadir="$MYSQL/data" --auth-root-authentication-method=socket \
      --skip-test-db > "$LOG/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (see $LOG/mariadb-install.log)"
  fi
  # Detached, with no network at all: clients use the unix socket.
  setsid mariadbd --no-defaults --user="$ME" --datadir="$MYSQL/data" --socket="$MYSQL_SOCKET" \
    --pid-file="$MYSQL/mysqld.pid" --skip-networking --log-error="$LOG/mariadb.log" \
    --innodb-buffer-pool-size=32M --performance-schema=OFF < /dev/null > /dev/null 2>&1 &
  wait_for 30 mariadb mysql_client -e 'SELECT 1' || die "mariadbd did not start (see $LOG/mariadb.log)"
  # slurmdbd logs in as the SlurmUser through the socket (unix_socket authentication: no password).
  mysql_client -e "CREATE USER IF NOT EXISTS '$ME'@'localhost' IDENTIFIED VIA unix_socket;
    GRANT ALL ON slurm_acct_db.* TO '$ME'@'localhost';" || die "could not create the accounting database user"
}

start_slurmdbd() {
  running_pid slurmdbd "$RUN/slurmdbd.pid" >/dev/null && return 0
  # slurmdbd reads slurmdbd.conf beside $SLURM_CONF, and reaches MariaDB through its socket
  # (MYSQL_UNIX_PORT: libmariadb's default socket).
  MYSQL_UNIX_PORT=$MYSQL_SOCKET slurmdbd </dev/null >/dev/null 2>&1 \
    || die "slurmdbd did not start (see $LOG/slurmdbd.log)"
  wait_for 30 slurmdbd timeout 5 sacctmgr -n list cluster || die "slurmdbd does not answer (see $LOG/slurmdbd.log)"
}

register_cluster() {
  # Accounts are enforced (AccountingStorageEnforce=associations), as on most clusters: the cluster
  # must be known to slurmdbd before slurmctld starts. root's association (account root) comes with it.
  sacctmgr -n list cluster format=cluster | grep -qw "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
}

start_slurmctld() {
  running_pid slurmctld "$RUN/slurmctld.pid" >/dev/null && return 0
  slurmctld -f "$SLURM_CONF" </dev/null >/dev/null 2>&1 || die "slurmctld did not start (see $LOG/slurmctld.log)"
  wait_for 30 slurmctld timeout 5 scontrol ping || die "slurmctld does not answer (see $LOG/slurmctld.log)"
}

start_slurmd() {
  running_pid slurmd "$RUN/slurmd.pid" >/dev/null && return 0
  slurmd -f "$SLURM_CONF" -N localhost </dev/null >/dev/null 2>&1 || die "slurmd did not start (see $LOG/slurmd.log)"
}

node_state() { sinfo -h -N -n localhost -o %t | head -n1; }
node_idle() { node_state | grep -Eq '^(idle|mix|alloc)'; }

# A node that was down, drained or invalid under an earlier configuration is taken back into service.
resume_node() {
  wait_for 10 "the node" sh -c '[ -n "$(sinfo -h -N -n localhost -o %t)" ]' || return 0
  sleep 1
  case "$(node_state)" in
    down*|drain*|inval*|fail*) scontrol update nodename=localhost state=resume 2>/dev/null || true ;;
  esac
}

cancel_jobs() {
  local ids
  running_pid slurmctld "$RUN/slurmctld.pid" >/dev/null || return 0
  ids=$(squeue -h -o %i 2>/dev/null || true)
  [ -n "$ids" ] || return 0
  scancel $ids 2>/dev/null || true
  wait_for 30 "jobs to end" sh -c '[ -z "$(squeue -h -o %i)" ]' \
    || echo "slurm.sh: jobs still listed after cancelling: $(squeue -h -o %i | tr '\n' ' ')" >&2
}

up() {
  need_tools
  mkdir -p "$ETC" "$RUN" "$LOG" "$MUNGE" "$MYSQL" "$DIR/spool/ctld" "$DIR/spool/d" "$DIR/bin" "$DIR/dev"
  chmod 755 "$DIR" "$MUNGE"  # munged wants its socket folder open to all (its key stays 600)
  local mode
  mode=$(resolved_confine)
  write_configs "$mode"
  # slurmctld and slurmd restart when they run with another configuration (another confinement).
  if [ "$(cat "$RUN/config.started" 2>/dev/null)" != "$(config_hash)" ]; then
    cancel_jobs
    stop_daemon slurmd "$RUN/slurmd.pid"
    stop_daemon slurmctld "$RUN/slurmctld.pid"
  fi
  check_port slurmdbd "$RUN/slurmdbd.pid" "$DBD_PORT"
  check_port slurmctld "$RUN/slurmctld.pid" "$CTLD_PORT"
  check_port slurmd "$RUN/slurmd.pid" "$SLURMD_PORT"
  start_munge
  start_mariadb
  start_slurmdbd
  register_cluster
  start_slurmctld
  start_slurmd
  config_hash > "$RUN/config.started"
  resume_node
  wait_for 30 "the node" node_idle || die "node localhost is not up: $(sinfo -h -N -o '%N %t %E' 2>&1) (see $LOG/slurmd.log)"
  echo "$mode" > "$DIR/confine"
  echo "slurm.sh: cluster up in $DIR (confinement: $mode); use: eval \"\$($0 env --dir $DIR)\""
}

down() {
  [ -d "$DIR" ] || { echo "slurm.sh: nothing to stop in $DIR"; return 0; }
  cancel_jobs
  stop_daemon slurmd "$RUN/slurmd.pid"
  stop_daemon slurmctld "$RUN/slurmctld.pid"
  stop_daemon slurmdbd "$RUN/slurmdbd.pid"
  stop_daemon mariadbd "$MYSQL/mysqld.pid"
  stop_daemon munged "$MUNGE/munged.pid"
  echo "slurm.sh: cluster in $DIR stopped"
}

status() {
  local name pidfile pid all=0
  for entry in munged:$MUNGE/munged.pid mariadbd:$MYSQL/mysqld.pid slurmdbd:$RUN/slurmdbd.pid \
               slurmctld:$RUN/slurmctld.pid slurmd:$RUN/slurmd.pid; do
    name=${entry%%:*} pidfile=${entry#*:}
    if pid=$(running_pid "$name" "$pidfile"); then
      echo "$name running (pid $pid)"
    else
      echo "$name stopped"
      all=1
    fi
  done
  [ -f "$DIR/confine" ] && echo "confinement: $(cat "$DIR/confine")"
  if [ $all = 0 ]; then
    sinfo -h -o '%P %a %D %t %C' | sed 's/^/partition /'
  fi
  return $all
}

case "$ACTION" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "export PATH=$DIR/bin:\$PATH SLURM_CONF=$SLURM_CONF" ;;
  *) echo "usage: slurm.sh up|down|status|env [--confine none|affinity|cgroup|auto] [--dir DIR]" >&2; exit 2 ;;
esac
