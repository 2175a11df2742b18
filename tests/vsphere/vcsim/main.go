// Command vcsim-launcher runs govmomi's vCenter simulator for vmpooler's vSphere tests.
//
// It adds what the SOAP API cannot do: an HTTP control endpoint that changes host
// load, health and CPU model and a VM's guest identity, so tests can drive host
// selection and readiness. On start it prints one JSON line with the SOAP and
// control URLs (both listen on free ports unless told otherwise).
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// hostState is what /reset restores: everything /host can change.
type hostState struct {
	quickStats types.HostListSummaryQuickStats
	hardware   types.HostHardwareSummary
	status     types.ManagedEntityStatus
	issues     []types.BaseEvent
	maint      bool
	cpuPkg     []types.HostCpuPackage
}

type control struct {
	saved map[string]hostState
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "SOAP listen address")
	ctl := flag.String("ctl", "127.0.0.1:0", "control endpoint listen address")
	username := flag.String("username", "", "accepted user name (empty: any non-empty credentials)")
	password := flag.String("password", "", "accepted password")
	idle := flag.Duration("session-idle", 0, "expire sessions idle this long (0: never)")
	watchStdin := flag.Bool("watch-stdin", false, "exit when stdin closes (the parent died)")
	model := simulator.VPX()
	flag.IntVar(&model.Datacenter, "dc", model.Datacenter, "datacenters")
	flag.IntVar(&model.Folder, "folder", model.Folder, "datacenters placed inside a folder")
	flag.IntVar(&model.Cluster, "cluster", model.Cluster, "clusters per datacenter")
	flag.IntVar(&model.ClusterHost, "clusterhost", model.ClusterHost, "hosts per cluster")
	flag.IntVar(&model.Host, "host", model.Host, "standalone hosts per datacenter")
	flag.IntVar(&model.Machine, "vm", model.Machine, "VMs per resource pool")
	flag.IntVar(&model.Pool, "pool", model.Pool, "child resource pools per cluster")
	flag.IntVar(&model.Datastore, "ds", model.Datastore, "datastores")
	flag.IntVar(&model.Portgroup, "pg", model.Portgroup, "distributed port groups")
	flag.Parse()

	simulator.SessionIdleTimeout = *idle

	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()

	listenURL := &url.URL{Host: *listen}
	if *username != "" {
		listenURL.User = url.UserPassword(*username, *password)
	}
	model.Service.Listen = listenURL
	// https with a self-signed certificate, as a vCenter often has.
	model.Service.TLS = new(tls.Config)
	server := model.Service.NewServer()
	defer server.Close()

	c := &control{saved: map[string]hostState{}}
	c.isolateHosts()
	ctlListener, err := net.Listen("tcp", *ctl)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/host", c.serveHost)
	mux.HandleFunc("/vm", c.serveVM)
	mux.HandleFunc("/reset", c.serveReset)
	go func() { log.Fatal(http.Serve(ctlListener, mux)) }()

	soapURL := *server.URL
	soapURL.User = nil
	ready, _ := json.Marshal(map[string]string{
		"url": soapURL.String(),
		"ctl": "http://" + ctlListener.Addr().String(),
	})
	fmt.Println(string(ready))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
}

// isolateHosts gives every host its own hardware records (the model shares the
// CPU package slice between hosts) and remembers the starting state for /reset.
func (c *control) isolateHosts() {
	for _, entity := range simulator.Map.All("HostSystem") {
		host := entity.(*simulator.HostSystem)
		simulator.Map.WithLock(host, func() {
			hardware := *host.Hardware
			hardware.CpuPkg = append([]types.HostCpuPackage(nil), host.Hardware.CpuPkg...)
			host.Hardware = &hardware
			summary := *host.Summary.Hardware
			host.Summary.Hardware = &summary
			c.saved[host.Name] = capture(&host.HostSystem)
		})
	}
}

func capture(h *mo.HostSystem) hostState {
	return hostState{
		quickStats: h.Summary.QuickStats,
		hardware:   *h.Summary.Hardware,
		status:     h.OverallStatus,
		issues:     h.ConfigIssue,
		maint:      h.Runtime.InMaintenanceMode,
		cpuPkg:     append([]types.HostCpuPackage(nil), h.Hardware.CpuPkg...),
	}
}

func restore(h *mo.HostSystem, s hostState) {
	h.Summary.QuickStats = s.quickStats
	*h.Summary.Hardware = s.hardware
	h.OverallStatus = s.status
	h.Summary.OverallStatus = s.status
	h.ConfigIssue = s.issues
	h.Runtime.InMaintenanceMode = s.maint
	h.Hardware.CpuPkg = append([]types.HostCpuPackage(nil), s.cpuPkg...)
}

func findEntity(kind, name string) mo.Entity {
	for _, entity := range simulator.Map.All(kind) {
		if entity.Entity().Name == name {
			return entity
		}
	}
	return nil
}

func fail(w http.ResponseWriter, code int, format string, args ...interface{}) {
	http.Error(w, fmt.Sprintf(format, args...), code)
}

// serveHost: /host?name=H&cpu=MHz&mem=MB&cpuMhz=&cores=&memSize=bytes&status=&configIssue=&maint=&cpuModel=
func (c *control) serveHost(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	entity := findEntity("HostSystem", q.Get("name"))
	if entity == nil {
		fail(w, http.StatusNotFound, "no host %q", q.Get("name"))
		return
	}
	host := entity.(*simulator.HostSystem)
	var problem error
	simulator.Map.WithLock(host, func() { problem = applyHost(&host.HostSystem, q) })
	if problem != nil {
		fail(w, http.StatusBadRequest, "%v", problem)
		return
	}
	fmt.Fprintln(w, "ok")
}

func applyHost(h *mo.HostSystem, q url.Values) error {
	ints := []struct {
		key    string
		target func(int64)
	}{
		{"cpu", func(v int64) { h.Summary.QuickStats.OverallCpuUsage = int32(v) }},
		{"mem", func(v int64) { h.Summary.QuickStats.OverallMemoryUsage = int32(v) }},
		{"cpuMhz", func(v int64) { h.Summary.Hardware.CpuMhz = int32(v) }},
		{"cores", func(v int64) { h.Summary.Hardware.NumCpuCores = int16(v) }},
		{"memSize", func(v int64) { h.Summary.Hardware.MemorySize = v }},
	}
	for _, field := range ints {
		if !q.Has(field.key) {
			continue
		}
		value, err := strconv.ParseInt(q.Get(field.key), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %v", field.key, err)
		}
		field.target(value)
	}
	if q.Has("status") {
		status := types.ManagedEntityStatus(q.Get("status"))
		h.OverallStatus = status
		h.Summary.OverallStatus = status
	}
	if q.Has("configIssue") {
		h.ConfigIssue = nil
		if message := q.Get("configIssue"); message != "" {
			event := &types.GeneralHostWarningEvent{}
			event.Message = message
			event.CreatedTime = time.Now()
			h.ConfigIssue = []types.BaseEvent{event}
		}
	}
	if q.Has("maint") {
		h.Runtime.InMaintenanceMode = q.Get("maint") == "true"
	}
	if q.Has("cpuModel") {
		for i := range h.Hardware.CpuPkg {
			h.Hardware.CpuPkg[i].Description = q.Get("cpuModel")
		}
	}
	return nil
}

// serveVM: /vm?name=V&ip=&hostname=&tools=toolsOk
func (c *control) serveVM(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	entity := findEntity("VirtualMachine", q.Get("name"))
	if entity == nil {
		fail(w, http.StatusNotFound, "no vm %q", q.Get("name"))
		return
	}
	vm := entity.(*simulator.VirtualMachine)
	simulator.Map.WithLock(vm, func() {
		if q.Has("ip") {
			vm.Guest.IpAddress = q.Get("ip")
			vm.Summary.Guest.IpAddress = q.Get("ip")
		}
		if q.Has("hostname") {
			vm.Guest.HostName = q.Get("hostname")
			vm.Summary.Guest.HostName = q.Get("hostname")
		}
		if q.Has("tools") {
			vm.Guest.ToolsStatus = types.VirtualMachineToolsStatus(q.Get("tools"))
			vm.Summary.Guest.ToolsStatus = types.VirtualMachineToolsStatus(q.Get("tools"))
		}
	})
	fmt.Fprintln(w, "ok")
}

// serveReset puts every host back to its starting load, health and CPU model.
func (c *control) serveReset(w http.ResponseWriter, r *http.Request) {
	for _, entity := range simulator.Map.All("HostSystem") {
		host := entity.(*simulator.HostSystem)
		if state, ok := c.saved[host.Name]; ok {
			simulator.Map.WithLock(host, func() { restore(&host.HostSystem, state) })
		}
	}
	fmt.Fprintln(w, "ok")
}
