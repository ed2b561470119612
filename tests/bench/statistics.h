// Order statistics of a set of samples. The benchmarks report medians and 99th percentiles, never
// means: one stop that waited for a descheduled thread says nothing about the typical pause.
#pragma once

#include <vector>

namespace hotpatch::bench {

// The value below which `fraction` (0..1) of the samples lie, by nearest rank. 0 for no samples.
double Percentile(std::vector<double> samples, double fraction);
inline double Median(const std::vector<double>& samples) {
  return Percentile(samples, 0.5);
}

}  // namespace hotpatch::bench
