# The TAP tests' link to the independent implementation of the
# customer-base models, test/ref/btyd_ref.py: finding a Python that has
# scipy and numpy, running the script on the rows of a query, and comparing
# lists of numbers to a relative tolerance.  Used by 007_btyd_reference.pl
# and 014_bgbb_reference.pl.
package BtydRef;

use strict;
use warnings;
use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use IPC::Run;
use Test::More;

our @EXPORT = qw(python_or_skip reference reference_output close_to);

my $script = abs_path(dirname(__FILE__) . '/../ref/btyd_ref.py');
# scipy and numpy come from Debian's packages (tools/setup.sh), which only
# the system interpreter sees
my $python = $ENV{PYTHON} // (-x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3');

# One test that the interpreter imports scipy and numpy; without them the
# test file ends here.
sub python_or_skip
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, '-c', 'import scipy, numpy' ], '>', \$out, '2>', \$err);
	return if ok($? == 0, "$python can import scipy and numpy");
	diag("$err\nInstall python3-scipy and python3-numpy (tools/setup.sh does).");
	done_testing();
	exit;
}

# The output of the reference run with @args and $input on stdin.
sub reference_output
{
	my ($input, @args) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ $python, $script, @args ], '<', \$input, '>', \$o, '2>', \$e)
	  or die "btyd_ref.py @args failed: $e";
	return $o;
}

# Runs the reference with the rows of a query on $node as CSV on stdin;
# returns its output lines, each split into numbers.
sub reference
{
	my ($node, $rows_sql, @args) = @_;
	my $rows = $node->safe_psql('postgres', "COPY ($rows_sql) TO STDOUT WITH (FORMAT csv)");
	return map { [ split /,/ ] } split /\n/, reference_output($rows, @args);
}

# Compares two lists of numbers to a relative tolerance, one test each.
sub close_to
{
	my ($what, $got, $want, $tol) = @_;
	for my $i (0 .. $#$want)
	{
		my $rel = abs($got->[$i] - $want->[$i]) / abs($want->[$i]);
		ok($rel < $tol, "$what [$i]: $got->[$i] against $want->[$i] (relative $rel)");
	}
}

1;
