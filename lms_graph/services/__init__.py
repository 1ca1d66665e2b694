"""Business rules. Resolvers, the CSV import, the CLI and tests all call these."""
