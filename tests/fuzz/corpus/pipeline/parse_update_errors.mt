mtir 1
graph g {
  input %x : f32[2]
  update %x <- %x
  output %x
}
mtir 1
graph g {
  param %w : f32[2]
  %y = sum %w
  update %w <- %y
  output %y
}
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w <- %y
  update %w <- %y
  output %y
}
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w <- %y
  %z = neg %y
  output %z
}
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w <- %y
  output %y, %w
}
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w = %y
  output %y
}
mtir 1
graph g {
  param %w : f32[2]
  %r = rand %w seed=1 : f32[2]
  output %r
}
