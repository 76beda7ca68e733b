-- A brand's cap on repeated recipes (docs/variety.md): at most variety_max_repeats posts alike
-- (the same value in every dimension) in any variety_window consecutive posts of a business on
-- a platform; a window of 0 turns the cap off. A decision the cap shaped logs the probability
-- its policy put on the recipes left out (decisions.excluded): the action was drawn from π
-- given that it is none of them, so its joint propensity is Π π_d / (1 − excluded).
alter table profiles
  add column if not exists variety_window smallint not null default 10,
  add column if not exists variety_max_repeats smallint not null default 3;
alter table profiles drop constraint if exists profiles_variety_check;
alter table profiles add constraint profiles_variety_check check (
  variety_window between 0 and 100
  and (variety_window = 0 or variety_max_repeats between 1 and variety_window - 1)
);

alter table decisions add column if not exists excluded float8 not null default 0;
alter table decisions drop constraint if exists decisions_excluded_check;
alter table decisions add constraint decisions_excluded_check check (excluded >= 0 and excluded < 1);
