struct settings { int verbose; int limit; };

struct settings settings = {0, 10};
