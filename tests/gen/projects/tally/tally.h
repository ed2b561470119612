int weighted_tally(int rounds);
