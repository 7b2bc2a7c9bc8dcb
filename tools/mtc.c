/* mtc.c - the command line (in progress). */
int main(void);
int main(void) { return 2; }
