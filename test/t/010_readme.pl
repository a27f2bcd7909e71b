# The README's examples are tests.  Every ```sql block of README.md runs, in
# the order of the README, in one psql session on a fresh cluster and
# database prepared as the README tells a reader:
#
#  * the first ```ini block (the postgresql.conf lines of "Scheduling") is
#    added to the cluster's postgresql.conf, and the database is the one its
#    cron.database_name names (psql runs from the top of the checkout, so
#    \copy ... FROM 'test/data/...' reads the repository's files);
#  * a ```text block right after a ```sql block (only blank lines between) is
#    what psql prints for it: the output is compared with it line by line,
#    trailing blanks ignored; a block without one must not print an error
#    or a warning;
#  * a ```sql block right after a line <!-- fragment --> is not run: the test
#    says so (a skipped subtest and a diagnostic naming its line).
#
# psql runs as `psql -X -q` (no psqlrc, no command tags), reading the blocks
# from standard input; the "psql:<stdin>:N: " prefix of its messages is
# removed before comparing.  With RFM_README_OUTPUT=file the test also writes
# what every block printed to that file, to copy into a new ```text block.
use strict;
use warnings;
use Cwd qw(abs_path);
use Encode qw(encode);
use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $top = abs_path(dirname(__FILE__) . '/../..');
chdir $top or die "cannot enter $top: $!";

# The blocks of README.md: language, first line, text, and for a ```sql block
# whether it is a fragment and the ```text block that follows it.
open my $fh, '<:encoding(UTF-8)', 'README.md' or die "README.md: $!";
my @lines = <$fh>;
close $fh;
my (@blocks, $cur, $prev);
for my $i (0 .. $#lines)
{
	my $line = $lines[$i];
	if ($cur)
	{
		if ($line =~ /^```\s*$/)
		{
			$cur->{end} = $i;
			push @blocks, $cur;
			$cur = undef;
		}
		else
		{
			$cur->{text} .= $line;
		}
	}
	elsif ($line =~ /^```(\S*)/)
	{
		my $lang = $1;
		$cur = { lang => $lang, start => $i, line => $i + 1, text => '',
			fragment => (defined $prev && $prev =~ /^<!--\s*fragment\s*-->\s*$/) };
	}
	$prev = $line unless $line =~ /^\s*$/;
}
die "README.md: the code block of line $cur->{line} is not closed" if $cur;

# the expected output of an sql block: a text block with only blank lines
# between the two
for my $k (1 .. $#blocks)
{
	my ($b, $sql) = ($blocks[$k], $blocks[ $k - 1 ]);
	next unless $b->{lang} eq 'text' && $sql->{lang} eq 'sql';
	my $gap = join '', @lines[ $sql->{end} + 1 .. $b->{start} - 1 ];
	$sql->{expected} = $b->{text} if $gap =~ /^\s*$/;
}
my @sql = grep { $_->{lang} eq 'sql' } @blocks;
ok(scalar(@sql) > 10, 'README.md has sql blocks: ' . scalar(@sql));

my ($conf) = map { $_->{text} } grep { $_->{lang} eq 'ini' } @blocks;
ok(defined $conf, 'README.md has the postgresql.conf lines');
my ($db) = ($conf // '') =~ /^\s*cron\.database_name\s*=\s*'([^']+)'/m;
ok(defined $db, "the postgresql.conf lines name the database: $db");

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->append_conf('postgresql.conf', $conf);
$node->start;
# what `createdb` gives on a UTF-8 system, with the C collation so that text
# sorts the same everywhere
$node->safe_psql('postgres',
	qq{CREATE DATABASE "$db" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'});
$ENV{PGCLIENTENCODING} = 'UTF8';

# a block that runs for more than 10 minutes stops the test (pump dies)
my ($in, $out) = ('', '');
my $timer = IPC::Run::timeout(600);
my $psql = IPC::Run::start(
	[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', $db ],
	'<', \$in, '>&', \$out, $timer);
my $record = '';
my $n = 0;
for my $b (@sql)
{
	$n++;
	my $name = "README.md line $b->{line}, sql block $n";
	if ($b->{fragment})
	{
		diag("$name: marked as a fragment, not run");
	  SKIP: { skip "$name: a fragment", 1; }
		next;
	}
	my $marker = "--README-BLOCK-$n-DONE--";
	$out = '';
	$in .= encode('UTF-8', $b->{text}) . "\n\\echo $marker\n";
	$timer->start(600);
	$psql->pump until $out =~ /\Q$marker\E\n/ || !$psql->pumpable;
	my $got = $out;
	utf8::decode($got);
	$got =~ s/\Q$marker\E\n.*//s;
	$got =~ s/^psql:<stdin>:\d+: //mg;
	$record .= "-- $name\n$got\n";
	if (defined $b->{expected})
	{
		is(normalize($got), normalize($b->{expected}), "$name: prints what the README shows");
	}
	else
	{
		unlike($got, qr/^(ERROR|WARNING|FATAL|PANIC):|^invalid command/m, "$name: runs without an error");
	}
}
$in .= "\\q\n";
$psql->finish;

if ($ENV{RFM_README_OUTPUT})
{
	open my $o, '>:encoding(UTF-8)', $ENV{RFM_README_OUTPUT} or die "$ENV{RFM_README_OUTPUT}: $!";
	print $o $record;
	close $o;
}

# trailing blanks of each line and blank lines at both ends do not count
sub normalize
{
	my ($s) = @_;
	$s =~ s/[ \t]+$//mg;
	$s =~ s/^\n+//;
	$s =~ s/\n*\z/\n/;
	return $s;
}

$node->stop;
done_testing();
