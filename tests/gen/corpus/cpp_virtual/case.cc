#include <cstdio>

struct Shape {
  virtual ~Shape() = default;
  virtual int Area() const = 0;
};

struct Square : Shape {
  explicit Square(int s) : side(s) {}
  int Area() const override;
  int side;
};

__attribute__((noinline)) int Square::Area() const {
  int area = 0;
  for (int i = 0; i < side; ++i) area += side;
  return area;
}

Shape* volatile shape = new Square(5);

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%d", shape->Area());
  return text;
}
