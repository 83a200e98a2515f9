package localcluster

import (
	"flag"
	"io"

	"k8s.io/klog/v2"
)

// redirectKlog sends klog's output, which the API server and client-go write to
// stderr by default, to w, so that a test's or berth-local's own output stays readable.
// Only fatal messages still reach stderr.
func redirectKlog(w io.Writer) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"stderrthreshold": "FATAL",
	} {
		_ = fs.Set(name, value) // names and values are klog's own, known to parse
	}
	klog.SetOutput(w)
}
