#!/usr/bin/perl
# panda-gc payload supervisor (the "shim" of RELIABILITY.md §4.7): the agent starts it in a new
# session and process group; it forks the payload, waits for it, and leaves the payload's exact
# exit status in a file, so a restarted agent (which is not the payload's parent and cannot wait
# for it) still learns how it ended. Perl because perl-base is Essential on Debian and it starts
# in ~2 ms with no modules, where Node or Python would add 20-50 ms to every job start; and
# unlike a shell it tells an exit code from a signal.
#
# argv: <status-file> <run-as> <program> [args...]; stdout/stderr are already the job's log files.
# <run-as> is "" (the payload runs as we do) or "UID:GID": the payload drops to that user and
# group (no supplementary groups) before its exec, while the supervisor keeps the agent's user so
# it can write the status file the payload cannot touch.
# Contract with agent/runner/supervisor.ts: on the payload's end, <status-file> appears
# (atomically, by rename) holding one JSON line:
#   {"exit":N|null,"signal":N|null,"core":0|1,"cpu_user_s":F,"cpu_sys_s":F}
# The file's modification time is when the payload ended (loading Time::HiRes would cost 1 ms
# per job; the agent reads the mtime with nanosecond precision instead).
# The supervisor survives SIGTERM/SIGINT/SIGHUP sent to its group (the payload gets them) so that
# it can record the outcome; SIGKILL ends it without a status file, which the agent expects.
use strict;

my ($status_file, $run_as) = splice(@ARGV, 0, 2);
die "usage: supervisor.pl <status-file> <run-as> <program> [args...]\n"
    unless defined $status_file && defined $run_as && @ARGV;
my ($uid, $gid);
if ($run_as ne '') {
    ($uid, $gid) = $run_as =~ /\A(\d+):(\d+)\z/ or die "supervisor: bad run-as '$run_as'\n";
}

# Handled (not ignored) signals revert to their default in the payload at exec; ignored ones
# would stay ignored, so never use 'IGNORE' here.
my $signalled = 0;
$SIG{$_} = sub { $signalled++ } for qw(TERM INT HUP);

# Proof, for an agent restarted while it was `starting` this job, that a payload may have run.
open(my $started, '>', "$status_file.started") or die "supervisor: cannot write $status_file.started: $!\n";
close($started);

my $pid = fork();
die "supervisor: fork failed: $!\n" unless defined $pid;
if ($pid == 0) {
    if (defined $uid) {
        # Group first (setgid is impossible once the uid is dropped); "$gid $gid" also
        # replaces the supplementary groups. Checked, never assumed.
        require POSIX;
        $) = "$gid $gid";
        POSIX::setgid($gid);
        POSIX::setuid($uid);
        if ($> != $uid || $< != $uid || $) + 0 != $gid || $( + 0 != $gid) {
            print STDERR "pgc: cannot run the payload as $uid:$gid: $!\n";
            exit 126;
        }
    }
    exec { $ARGV[0] } @ARGV;
    print STDERR "pgc: cannot run $ARGV[0]: $!\n";
    # 127 is what shells use for "command not found".
    exit 127;
}

my $waited;
do { $waited = waitpid($pid, 0) } until $waited == $pid || ($waited == -1 && !$!{EINTR});
my $status = $?;
my ($user, $system, $cuser, $csys) = times();
my $signal = $status & 127;
my $json = sprintf('{"exit":%s,"signal":%s,"core":%d,"cpu_user_s":%.3f,"cpu_sys_s":%.3f}',
    $signal ? 'null' : ($status >> 8), $signal ? $signal : 'null', ($status & 128) ? 1 : 0, $cuser, $csys);

my $tmp = "$status_file.tmp";
open(my $fh, '>', $tmp) or die "supervisor: cannot write $tmp: $!\n";
print $fh "$json\n";
close($fh) or die "supervisor: cannot write $tmp: $!\n";
rename($tmp, $status_file) or die "supervisor: cannot rename $tmp: $!\n";
exit 0;
