#pragma once

namespace rentmesh {

// Builds one visitor for std::visit out of several lambdas:
//   std::visit(Overloaded{[](const A&) {...}, [](const B&) {...}}, v);
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace rentmesh
