struct account { int id; int balance; };

struct account accounts[2] = {{1, 100}, {2, 200}};
