const char *hello_greeting(void);
int hello_twice(int x);
