# The rule tables survive pg_dump and restore: the user's changed, added and
# deleted rules (builtin ones included) come back exactly, with no conflict
# between the rows CREATE EXTENSION installs and the dumped ones; in custom
# and plain format, and a second round trip from the restored database.
# Also the customer groups and their settings (1.2), the digest of the rules
# (equal after a restore), and the upgrade of the basic tier's bound.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION rfm');

# The user's changes.
$node->safe_psql('src', q{
	-- a changed builtin row that builtin rules reference, and new codes
	UPDATE rfm_strategy SET label_en = 'Keep', description = 'Our word for it' WHERE code = 'retain';
	INSERT INTO rfm_strategy (code, label_en, label_zh) VALUES ('nurture', 'Nurture', '培育');
	INSERT INTO rfm_channel (code, contact_intensity, cost_level, label_en, label_zh)
	VALUES ('wechat', 'medium', 'low', 'WeChat', '微信');
	INSERT INTO rfm_sales_technique (code, label_en, label_zh) VALUES ('bundle', 'Bundle', '捆绑销售');
	-- a builtin rule changed to use them; the channel it used is deleted
	UPDATE rfm_segment_action SET channels = '{phone,wechat}', techniques = '{bundle}', strategy = 'nurture'
	WHERE segment = 'important_develop';
	DELETE FROM rfm_channel WHERE code = 'direct_mail';
	-- builtin rules deleted, one of them after a change
	DELETE FROM rfm_segment_action WHERE segment = 'Lost';
	UPDATE rfm_segment_action SET service_lever = 'Newsletter only' WHERE segment = 'Hibernating';
	DELETE FROM rfm_segment_action WHERE segment = 'Hibernating';
	-- a builtin technique deleted after its rules changed or went
	UPDATE rfm_segment_action SET techniques = '{up_sell}' WHERE segment = 'Champions';
	DELETE FROM rfm_segment_action WHERE segment = 'important_value';
	DELETE FROM rfm_sales_technique WHERE code = 'referral';
	-- the silver tier replaced by a bronze one of the same rank
	UPDATE rfm_segment_action SET tier = 'gold' WHERE tier = 'silver';
	DELETE FROM rfm_tier WHERE code = 'silver';
	INSERT INTO rfm_tier (code, rank, discount, point_rate, min_spend, min_score, label_en, label_zh)
	VALUES ('bronze', 2, 0.05, 1.1, 500, 5, 'Bronze member', '铜牌会员');
	UPDATE rfm_tier SET discount = 0.35 WHERE code = 'vip';
	-- a rule of the user's own, a renamed channel, a builtin replaced by INSERT
	INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, techniques, tier, label_en, label_zh)
	VALUES ('whales', 'nurture', 'Concierge', '{wechat,account_manager_visit}', 'VIP price', '{bundle,up_sell}', 'vip', 'Whales', '大客户');
	UPDATE rfm_channel SET code = 'terminal' WHERE code = 'kiosk';
	INSERT INTO rfm_channel (code, contact_intensity, cost_level, label_en, label_zh)
	VALUES ('web', 'medium', 'low', 'Website', '官网');
	-- the changed rule that used the deleted channel goes too (on restore,
	-- applying the channel's tombstone takes the builtin rule along first)
	DELETE FROM rfm_segment_action WHERE segment = 'important_develop';
	-- settings
	UPDATE rfm_tier_settings SET tier_by = 'spend';
	UPDATE rfm_loyalty_settings SET signup_points = 50;
	-- customer groups: a changed strategy, a row replaced by INSERT, settings
	UPDATE rfm_customer_group SET strategy_en = 'Keep them in E', label_zh = 'E 类' WHERE code = 'E';
	INSERT INTO rfm_customer_group (code, scheme, label_en, label_zh, strategy_en, strategy_zh, personal_care)
	VALUES ('arpu_mid', 'arpu', 'Middle', '中等', 'Video plans', '视频套餐', true);
	UPDATE rfm_group_settings SET ae_cut = 'median', arpu_high = 800, value_by = 'clv';
});

# Everything a user sees of the rules, one line per row, sorted.
my @tables = qw(rfm_strategy rfm_channel rfm_sales_technique rfm_tier rfm_segment_action
  rfm_tier_settings rfm_loyalty_settings rfm_customer_group rfm_group_settings);
sub rules
{
	my ($db) = @_;
	my $sql = join(" UNION ALL ",
		map { "SELECT '$_' AS t, r::text AS row FROM $_ r" } @tables);
	return $node->safe_psql($db, "SELECT string_agg(t || ' ' || row, E'\\n' ORDER BY t, row) FROM ($sql) q");
}
sub tombstones
{
	my ($db) = @_;
	return $node->safe_psql($db,
		"SELECT string_agg(table_name || ' ' || key, E'\\n' ORDER BY table_name, key) FROM rfm_builtin_deleted");
}
sub plans
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(format('%s %s %s', segment, rfm_action(segment, NULL, 6000), rfm_label(segment, 'zh')),
		                  E'\n' ORDER BY segment) FROM rfm_segment_action});
}

my $want = rules('src');
my $want_plans = plans('src');
sub digest
{
	my ($db) = @_;
	return $node->safe_psql($db, 'SELECT rfm_rules_digest()');
}
my $want_digest = digest('src');

# The rules the user's changes should leave, written out independently.
is($node->safe_psql('src', q{
	SELECT string_agg(code, ',' ORDER BY code) FROM rfm_channel}),
	'account_manager_visit,email,phone,sms,store,terminal,web,wechat', 'channels in the source');
is($node->safe_psql('src', q{
	SELECT string_agg(segment || ':' || origin, ',' ORDER BY segment COLLATE "C") FROM rfm_segment_action WHERE origin <> 'builtin'}),
	q{Champions:changed,Need Attention:changed,Potential Loyalist:changed,general_develop:changed,}
	  . q{general_value:changed,whales:user},
	'changed and added rules in the source');
is($node->safe_psql('src', q{
	SELECT string_agg(table_name || ':' || key, ',' ORDER BY table_name COLLATE "C", key COLLATE "C") FROM rfm_builtin_deleted}),
	'rfm_channel:direct_mail,rfm_channel:kiosk,rfm_sales_technique:referral,rfm_segment_action:Hibernating,'
	  . 'rfm_segment_action:Lost,rfm_segment_action:important_develop,rfm_segment_action:important_value,rfm_tier:silver',
	'tombstones in the source');
is($node->safe_psql('src', q{
	SELECT string_agg(code || ':' || origin || ':' || personal_care, ',' ORDER BY code COLLATE "C")
	FROM rfm_customer_group WHERE origin <> 'builtin'}),
	'E:changed:false,arpu_mid:changed:true', 'changed customer groups in the source');

# Custom format through pg_restore, and plain format through psql.
my $dir = $node->basedir;
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/src.dump", '-d', $node->connstr('src') ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), "$dir/src.dump" ],
	'pg_restore without errors');
is(rules('dst'), $want, 'custom format: the rules are exactly the user\'s');
is(plans('dst'), $want_plans, 'custom format: the same plans and labels');
is(digest('dst'), $want_digest, 'custom format: the same digest of the rules');
is($node->safe_psql('dst', q{SELECT rfm_group_strategy('E') || ' / ' || rfm_group_label('E', 'zh') || ' / '
	|| (SELECT ae_cut || ' ' || arpu_high || ' ' || value_by FROM rfm_group_settings)}),
	'Keep them in E / E 类 / median 800 clv', 'custom format: the customer groups and their settings');

$node->safe_psql('postgres', 'CREATE DATABASE dst_single');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--single-transaction', '-d', $node->connstr('dst_single'), "$dir/src.dump" ],
	'pg_restore --single-transaction without errors');
is(rules('dst_single'), $want, 'one transaction: the rules are exactly the user\'s');

$node->command_ok([ 'pg_dump', '-f', "$dir/src.sql", '-d', $node->connstr('src') ], 'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst_plain'), '-f', "$dir/src.sql" ],
	'plain dump restores without errors');
is(rules('dst_plain'), $want, 'plain format: the rules are exactly the user\'s');
is(digest('dst_plain'), $want_digest, 'plain format: the same digest of the rules');

# Every tombstone of the source is kept (restoring one may record others
# for builtin rules it takes along; they say the same).
my %restored = map { $_ => 1 } split /\n/, tombstones('dst');
ok(!(grep { !$restored{$_} } split /\n/, tombstones('src')), 'tombstones kept');

# A second round trip, from the restored database.
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/dst.dump", '-d', $node->connstr('dst') ], 'pg_dump of the restored database');
$node->safe_psql('postgres', 'CREATE DATABASE dst2');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst2'), "$dir/dst.dump" ],
	'second restore without errors');
is(rules('dst2'), $want, 'second round trip: the rules are exactly the user\'s');

# After restore the rules behave as before: a deleted builtin stays deleted,
# the tier of a spend follows the changed tiers.
is($node->safe_psql('dst', q{SELECT rfm_tier('Champions', NULL, 700) || ' ' || rfm_tier_discount('vip')}),
	'bronze 0.35', 'tiering by spend with the user\'s tiers');
my ($ret, $out, $err) = $node->psql('dst', q{SELECT rfm_strategy('Lost')});
like($err, qr/no action rule for segment "Lost"/, 'a deleted builtin rule stays deleted');

# An untouched database dumps no rule rows at all.
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION rfm');
my ($plain, $dump_err) = run_command([ 'pg_dump', '--data-only', '-d', $node->connstr('fresh') ]);
like($plain, qr/COPY public\.rfm_segment_action /, 'the rule tables are in the dump');
unlike($plain,
	qr/^COPY public\.rfm_(strategy|channel|sales_technique|tier|segment_action|tier_settings|loyalty_settings|builtin_deleted|customer_group|group_settings) [^\n]*\n[^\\]/m,
	'a fresh database dumps no rule rows');
like($plain, qr/COPY public\.rfm_customer_group /, 'the customer groups are in the dump');
isnt(digest('fresh'), $want_digest, 'the digest of the default rules differs from the user\'s');

# Upgrading from 1.1: an untouched basic tier loses its lower bound of spend
# and stays builtin; a basic tier the user changed keeps its bound, and so
# does its dump.
$node->safe_psql('postgres', 'CREATE DATABASE old_untouched');
$node->safe_psql('old_untouched', q{CREATE EXTENSION rfm VERSION '1.1'; ALTER EXTENSION rfm UPDATE});
is($node->safe_psql('old_untouched', q{SELECT coalesce(min_spend::text, 'none') || ' ' || origin FROM rfm_tier WHERE code = 'basic'}),
	'none builtin', 'upgrade: the builtin basic tier has no lower bound');
is(digest('old_untouched'), digest('fresh'), 'upgrade: the same rules as a new installation');
$node->safe_psql('postgres', 'CREATE DATABASE old_changed');
$node->safe_psql('old_changed', q{
	CREATE EXTENSION rfm VERSION '1.1';
	UPDATE rfm_tier SET label_en = 'Member' WHERE code = 'basic';
	ALTER EXTENSION rfm UPDATE;
});
is($node->safe_psql('old_changed', q{SELECT min_spend || ' ' || origin || ' ' || label_en FROM rfm_tier WHERE code = 'basic'}),
	'0 changed Member', 'upgrade: a basic tier the user changed keeps its bound');
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/old.dump", '-d', $node->connstr('old_changed') ], 'pg_dump of the upgraded database');
$node->safe_psql('postgres', 'CREATE DATABASE old_restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('old_restored'), "$dir/old.dump" ],
	'restore of the upgraded database');
is(digest('old_restored'), digest('old_changed'), 'upgrade: the restored rules are the upgraded ones');

$node->stop;
done_testing();
