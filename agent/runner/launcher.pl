#!/usr/bin/perl
# panda-gc process launcher: one small long-lived process per agent that forks on the agent's
# behalf. Forking the agent itself (Node, 100-200 MB resident) copies its page tables and costs
# ~10 ms per child under load; forking this ~5 MB process costs a fraction of a millisecond.
#
# Protocol (agent/runner/launcher.ts), requests on stdin, each "<byte length>\n<fields>" with the
# fields joined by NUL:
#   S id status-file run-as cwd stdout-file stderr-file n-env KEY=VALUE... program args...
#       start a payload under the supervisor, in a new session, with exactly that environment
#       (run-as: "" or "UID:GID", see supervisor.pl)
#   R id cwd stdout-file stderr-file program args...
#       run a helper program (e.g. tar) with the launcher's environment; "" means /dev/null
# Replies on stdout, one line each:
#   P id pid        the child runs
#   F id message    it could not be started (fork, redirection, cwd or exec failed)
#   X id status     it ended, with its wait status
# At the end of stdin (the agent is gone) the launcher exits; supervisors live on in their own
# sessions and a restarted agent adopts them by their pid and start time.
use strict;
use Fcntl qw(O_WRONLY O_APPEND O_CREAT O_RDONLY);
use POSIX ();

my $supervisor = shift @ARGV or die "usage: launcher.pl <supervisor.pl>\n";
my %id_of;    # pid → request id, for the children whose end is reported

sub reply { my ($line) = @_; syswrite(STDOUT, "$line\n"); }

sub reap {
    while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
        my $status = $?;
        my $id = delete $id_of{$pid};
        reply("X $id $status") if defined $id;
    }
}
$SIG{CHLD} = \&reap;
$SIG{PIPE} = 'IGNORE';

sub redirect {
    my ($fh, $file, $fd) = @_;
    my $path = $file eq '' ? '/dev/null' : $file;
    sysopen(my $to, $path, O_WRONLY | O_APPEND | O_CREAT, 0600) or die "cannot open $path: $!\n";
    POSIX::dup2(fileno($to), $fd) or die "cannot redirect to $path: $!\n";
    close($to);
}

# Runs in the forked child: never returns. Setup problems go to the parent through $ready; its
# end of the pipe closes at the exec (perl opens it close-on-exec), so "P" is only replied for a
# child that is in place.
sub become {
    my ($ready, $kind, $cwd, $out, $err, $env, @argv) = @_;
    $SIG{$_} = 'DEFAULT' for qw(CHLD PIPE);
    eval {
        sysopen(my $null, '/dev/null', O_RDONLY) or die "cannot open /dev/null: $!\n";
        POSIX::dup2(fileno($null), 0) or die "cannot redirect stdin: $!\n";
        close($null);
        redirect(\*STDOUT, $out, 1);
        redirect(\*STDERR, $err, 2);
        chdir($cwd) or die "cannot enter $cwd: $!\n";
        if ($kind eq 'S') {
            POSIX::setsid() or die "setsid failed: $!\n";
            # exec, not `do`: only an exec puts the payload's environment (with the job's marker)
            # into /proc/<pid>/environ, where kills and the double-run watch look for it.
            %ENV = %$env;
            exec { $^X } $^X, $supervisor, @argv;
            die "cannot run $supervisor: $!\n";
        }
        exec { $argv[0] } @argv;
        die "cannot run $argv[0]: $!\n";
    };
    my $why = $@;
    chomp($why);
    syswrite($ready, $why);
    POSIX::_exit(127);
}

sub launch {
    my ($kind, $id, @rest) = @_;
    my ($cwd, $out, $err, $env, @argv);
    if ($kind eq 'S') {
        my ($status, $run_as) = splice(@rest, 0, 2);
        ($cwd, $out, $err) = splice(@rest, 0, 3);
        my $n = shift @rest;
        my %env = map { split(/=/, $_, 2) } splice(@rest, 0, $n);
        ($env, @argv) = (\%env, $status, $run_as, @rest);
    } else {
        ($cwd, $out, $err, @argv) = @rest;
    }
    # SIGCHLD is held until the pid is recorded, so a child that ends at once is still reported.
    my $block = POSIX::SigSet->new(POSIX::SIGCHLD());
    my $old = POSIX::SigSet->new();
    POSIX::sigprocmask(POSIX::SIG_BLOCK(), $block, $old);
    my ($ready_r, $ready_w);
    my $pid = pipe($ready_r, $ready_w) ? fork() : undef;
    if (!defined $pid) {
        my $why = "$!";
        POSIX::sigprocmask(POSIX::SIG_SETMASK(), $old);
        return reply("F $id cannot fork: $why");
    }
    if ($pid == 0) {
        close($ready_r);
        POSIX::sigprocmask(POSIX::SIG_SETMASK(), $old);
        become($ready_w, $kind, $cwd, $out, $err, $env, @argv);
    }
    close($ready_w);
    my $problem = '';
    for (;;) {
        my $n = sysread($ready_r, $problem, 4096, length $problem);
        last if defined $n && $n == 0;
        next if !defined $n && $!{EINTR};
        last if !defined $n;
    }
    close($ready_r);
    if ($problem ne '') {
        waitpid($pid, 0);
        $problem =~ s/\n/ /g;
        reply("F $id $problem");
    } else {
        $id_of{$pid} = $id;
        reply("P $id $pid");
    }
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), $old);
}

my $buffer = '';
sub fill {
    for (;;) {
        my $n = sysread(STDIN, $buffer, 65536, length $buffer);
        return $n if defined $n;
        next if $!{EINTR};
        die "pgc launcher: read failed: $!\n";
    }
}

for (;;) {
    if ($buffer =~ /\A(\d+)\n/ && length($buffer) >= length($1) + 1 + $1) {
        my $size = $1;
        my $frame = substr($buffer, length($size) + 1, $size);
        substr($buffer, 0, length($size) + 1 + $size) = '';
        my @fields = split(/\0/, $frame, -1);
        my ($kind, $id) = @fields;
        if (($kind eq 'S' && @fields >= 10) || ($kind eq 'R' && @fields >= 6)) {
            launch(@fields);
        } else {
            print STDERR "pgc launcher: malformed request ignored\n";
        }
        next;
    }
    die "pgc launcher: malformed request stream\n" if $buffer ne '' && $buffer !~ /\A\d*(\n|\z)/;
    last if fill() == 0;
}
exit 0;
