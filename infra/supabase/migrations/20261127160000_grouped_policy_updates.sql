-- Rewards whose policy update is still to be applied, findable without scanning
-- every reward: update_policy applies them in groups under one version lock.
alter table rewards add column policy_applied boolean not null default false;
update rewards set policy_applied = true where post_id in (select post_id from policy_updates);
create index rewards_update_pending on rewards (computed_at)
  where value is not null and baseline_before is not null and not policy_applied;
