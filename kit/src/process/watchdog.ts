/**
 * A `sh -c` script that runs a program tied to the life of the process that spawned it:
 * `spawn('sh', ['-c', WATCHDOG_SCRIPT, name, program, ...args], { stdio: ['pipe', …] })`.
 * Its stdin is a pipe from the spawner, which only the kernel closes when the spawner is gone
 * (stopped, crashed, even SIGKILLed) or when the spawner ends it: a background `cat` then sees
 * EOF and SIGTERMs the program, which `exec` has put in the shell's place ($$, so the child's
 * pid is the program's), and SIGKILLs it if it is still there 10 s later — a kube-apiserver
 * whose etcd went at the same moment never finishes its graceful shutdown.
 */
export const WATCHDOG_SCRIPT = `exec 3<&0
{
  cat <&3 >/dev/null
  kill $$ 2>/dev/null || exit 0
  i=0
  while [ $i -lt 100 ] && kill -0 $$ 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  kill -9 $$ 2>/dev/null
} &
exec "$@" </dev/null 3<&-`;
