// Package report turns berth-sim's runs into what users read: the figures of each run
// (Measure), one comparison table for the terminal (WriteTable), a results directory
// (WriteDir: results.json, results.csv, placements.jsonl, manifest.json, chart.svg)
// and the difference between two runs (Diff).
//
// It is pure logic over a workload and the engine's results: nothing here runs the
// scheduler, so every figure is a function of its inputs and is checked by hand on
// small cases. docs/simulator.md defines each figure and the file formats;
// results.json is a public interface and its keys do not change.
package report
