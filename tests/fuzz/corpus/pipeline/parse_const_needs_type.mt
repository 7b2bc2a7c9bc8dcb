mtir 1
graph g {
  %c = const value=1
  output %c
}
