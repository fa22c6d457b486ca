// A small Ginkgo v1 suite with one spec of each outcome Ginkgo reports.
package sample_test

import (
	"fmt"
	"os"
	"testing"

	. "github.com/onsi/ginkgo"
	"github.com/onsi/ginkgo/config"
	"github.com/onsi/ginkgo/reporters"
	. "github.com/onsi/gomega"
)

func TestSample(t *testing.T) {
	RegisterFailHandler(Fail)
	// On parallel nodes every node writes its own report, as Ginkgo v1 needs.
	if dir := os.Getenv("SAMPLE_REPORT_DIR"); dir != "" {
		path := fmt.Sprintf("%s/junit_%d.xml", dir, config.GinkgoConfig.ParallelNode)
		RunSpecsWithDefaultAndCustomReporters(t, "Sample Suite",
			[]Reporter{reporters.NewJUnitReporter(path)})
		return
	}
	RunSpecs(t, "Sample Suite")
}

var _ = Describe("[smoke] arithmetic", func() {
	It("adds", func() { Expect(1 + 1).To(Equal(2)) })
	It("multiplies", func() { Expect(2 * 3).To(Equal(6)) })
})

var _ = Describe("[slow] breakage", func() {
	It("fails on purpose", func() { Expect("left").To(Equal("right")) })
	It("panics on purpose", func() { panic("boom") })
	It("is skipped at run time", func() { Skip("not relevant here") })
	PIt("is pending", func() {})
})
